"""Reports (报表中心): saved report definitions and export jobs (issue #11), if any are needed."""
