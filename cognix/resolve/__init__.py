"""Decide every version and build step a project needs, before anything is built."""
