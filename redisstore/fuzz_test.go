package redisstore_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof/redisstore"
)

// FuzzCheckURL checks that any store URL is accepted or refused without a
// panic, that Open agrees, and that a refusal never repeats the URL's
// password.
func FuzzCheckURL(f *testing.F) {
	for _, seed := range []string{
		"redis://127.0.0.1:6379/0",
		"rediss://:Pw7301@host:6380/2?dial_timeout=1s",
		"redis://:Pw7301@host:bad/0",
		"redis+sentinel://:Pw7301@127.0.0.1:26379/0?master_name=m&addr=127.0.0.1:26380",
		"rediss+sentinel://u:Pw7301@h:1/x?master_name=m",
		"redis+cluster://:Pw7301@127.0.0.1:7000?addr=127.0.0.1:7001&addr=127.0.0.1:7002",
		"redis+cluster://:Pw7301@127.0.0.1:7000/1",
		"rediss+cluster://u:Pw7301@h:bad?addr=x",
		"redis+cluster://h:1?addr=%zz",
		"memory",
		"",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		err := redisstore.CheckURL(raw)
		s, openErr := redisstore.Open(raw, redisstore.Options{})
		if openErr == nil {
			s.Close()
		}
		if (err == nil) != (openErr == nil) {
			t.Fatalf("CheckURL(%q) = %v but Open = %v", raw, err, openErr)
		}
		if err == nil {
			return
		}
		// The password, when the URL has one that appears nowhere else in
		// it, must not be in the error.
		_, rest, _ := strings.Cut(raw, "://")
		u, perr := url.Parse("redis://" + rest)
		if perr != nil || u.User == nil {
			return
		}
		if p, ok := u.User.Password(); ok && len(p) >= 4 && strings.Count(raw, p) == 1 && strings.Contains(err.Error(), p) {
			t.Fatalf("CheckURL(%q) = %v: repeats the password", raw, err)
		}
	})
}
