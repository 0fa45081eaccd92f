package redisstore_test

import (
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof/redisstore"
)

// An Open error says what is wrong with the URL without repeating it: the
// URL holds the password.
func TestOpenErrorHidesPassword(t *testing.T) {
	for _, u := range []string{
		"redis://:Pw7301@host:bad/0",
		"redis://:Pw7301@host:6379/x",
		"foo://:Pw7301@host",
		"redis+sentinel://:Pw7301@host:bad/0?master_name=m",
		"redis+cluster://:Pw7301@host:bad",
		"rediss+cluster://:Pw7301@host:6379?addr=other",
	} {
		_, err := redisstore.Open(u, redisstore.Options{})
		if err == nil {
			t.Fatalf("Open(%q) succeeded", u)
		}
		if strings.Contains(err.Error(), "Pw7301") {
			t.Errorf("Open error repeats the password: %v", err)
		}
	}
}
