"""A local web dashboard for releases: live tracks, verdicts, decisions and history.

`server` serves the page and the JSON API, `monitor` samples the deployment once per
interval for every viewer, `panels` shapes the data, `security` guards every request,
`supervise` runs the dashboard beside a deployment, and `actions` is the one module
that calls into the rest of SwiftDeploy. See docs/dashboard.md.
"""
