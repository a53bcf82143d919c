"""voxtext-whisper: Whisper models for voxtext (see the plugin's README)."""
