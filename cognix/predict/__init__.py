"""Run predictions: parse `-i` inputs, call the Cog server, and save what it returns."""
