"""Identity and access: API keys, the calling principal and who may see and write what."""
