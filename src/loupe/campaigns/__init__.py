"""Campaigns: collaborations with creators (stages), story capture and its history, manual stories."""
