"""Reports: containers of trackings. The reference domain the others follow."""
