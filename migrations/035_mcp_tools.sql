-- MCP: the key a tool is offered to the AI under must name exactly one tool across all
-- servers; tools are looked up by server; and the user's per-tool "always allow" (no
-- approval asked for that tool) survives re-discovery because it lives with the tool.
CREATE UNIQUE INDEX idx_mcp_tools_tool_key ON mcp_tools(tool_key);
CREATE INDEX idx_mcp_tools_server ON mcp_tools(server_id);
ALTER TABLE mcp_tools ADD COLUMN always_allow INTEGER NOT NULL DEFAULT 0
    CHECK (always_allow IN (0, 1));
