module swiftdeploy.local/tools/opa

go 1.24

require github.com/open-policy-agent/opa v1.22.2
