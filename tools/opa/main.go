// Fallback build of OPA for scripts/install-opa, used only when
// `go install github.com/open-policy-agent/opa@version` is refused.
package main

import (
	"os"

	"github.com/open-policy-agent/opa/cmd"
)

func main() {
	if err := cmd.RootCommand.Execute(); err != nil {
		os.Exit(1)
	}
}
