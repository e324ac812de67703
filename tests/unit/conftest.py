"""Fixtures shared by the unit tests that talk to a loopback AI provider."""

from __future__ import annotations

import pytest

from tests.fakes.fake_openai import FakeOpenAI


@pytest.fixture
def openai_fake():
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


@pytest.fixture
def provider(call, openai_fake):
    """An active OpenAI-compatible provider pointing at the loopback fake."""
    return call("add_ai_provider", name="Team OpenAI", kind="openai", base_url=openai_fake.base_url,
                model="gpt-4o-mini", api_key=openai_fake.key)
