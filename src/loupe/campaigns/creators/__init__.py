"""Creators of a campaign: influencers of the workspace moving through the campaign's workflow."""
