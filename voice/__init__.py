"""Voice commands: audio intake, voice-activity detection, faster-whisper transcription,
and the grammar from transcript to command (see ARCHITECTURE.md §1)."""
