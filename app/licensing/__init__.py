"""Open licensing (专利开放许可, Patent Law arts. 50–52): declarations, rules, licences, advice."""
