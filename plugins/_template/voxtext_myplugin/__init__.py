"""An example voxtext plugin package (see plugin.py for the hooks)."""
