"""Stories of a campaign's creators, captured by hand while the campaign's story capture is on."""
