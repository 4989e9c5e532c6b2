"""patentmatch: patent supply–demand matchmaking (专利供需对接)."""
