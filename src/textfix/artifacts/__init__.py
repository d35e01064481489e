"""Damage that is not a codec round trip: annotations, doubled punctuation, fill markers."""
