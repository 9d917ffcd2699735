# A stand-in for policies/ in the Kubernetes golden renderings, so that they do not change
# whenever the shipped infra/canary policies do (tests/unit covers those being carried).
package example

import rego.v1

default allow := false
