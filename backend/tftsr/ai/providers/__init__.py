"""One module per wire format. :data:`PROVIDER_CLASSES` maps a provider kind to its class."""

from __future__ import annotations

from tftsr.ai.providers.anthropic import AnthropicProvider
from tftsr.ai.providers.custom_rest import CustomRestProvider
from tftsr.ai.providers.gemini import GeminiProvider
from tftsr.ai.providers.mistral import MistralProvider
from tftsr.ai.providers.ollama import OllamaProvider
from tftsr.ai.providers.openai_compat import AzureOpenAIProvider, OpenAICompatProvider

PROVIDER_CLASSES = {
    cls.kind: cls
    for cls in (OpenAICompatProvider, AzureOpenAIProvider, AnthropicProvider, GeminiProvider,
                MistralProvider, OllamaProvider, CustomRestProvider)
}
PROVIDER_KINDS = tuple(PROVIDER_CLASSES)

__all__ = ["PROVIDER_CLASSES", "PROVIDER_KINDS"]
