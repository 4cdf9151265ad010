// Package deploy holds the deployment files of vlensq (Dockerfile, compose
// file, Kubernetes manifests) and the test that validates them: every YAML
// document parses, the Kubernetes objects have the fields their kinds
// require, selectors match labels, probes and Services name real ports, the
// worker's grace period outlasts its shutdown timeout, pods run as non-root,
// the compose file has its services, AOF persistence and the sandbox
// profile, and only the worker (and the sandbox) gets the Vlens secrets:
// the dashboard holds none. See docs/deploy.md.
package deploy
