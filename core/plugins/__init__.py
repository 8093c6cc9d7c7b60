"""The plugin system (pluggy): hook specifications, the manager, component base classes
and the toolkit that plugin authors import."""
