package config_test

import (
	"fmt"
	"testing"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/config"
)

func mustLibrary(t *testing.T, c *config.Config) forgeproof.Config {
	t.Helper()
	lib, err := c.Library(nil)
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

func sprint(v any) string { return fmt.Sprintf("%v %+v %#v", v, v, v) }
