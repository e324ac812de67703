-- Thumbnails of each attached image, made once from the image (when it is attached, or on
-- first request for images attached before this table existed) and served from here, so
-- that showing a gallery never decodes full-size images. Sizes are the ones the image
-- routes offer; the bytes are a PNG, or a JPEG for JPEG sources.
CREATE TABLE IF NOT EXISTS image_thumbnails (
    image_id TEXT NOT NULL REFERENCES image_attachments(id) ON DELETE CASCADE,
    size INTEGER NOT NULL CHECK (size IN (128, 256, 512)),
    mime_type TEXT NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (image_id, size)
);
