"""Click statistics: figures of links, campaigns and the workspace, from clicks and conversions, as JSON or CSV."""
