"""Influencers: the workspace's CRM ("My Influencers") and their social profiles."""
