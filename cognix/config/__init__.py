"""Read and validate a Cog project's configuration: cog.yaml, requirements, cognix.toml."""
