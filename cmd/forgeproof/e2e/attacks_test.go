// Package e2e_test attacks forgeproof's own defenses from a real headless
// Chromium. See docs/BROWSER-TESTS.md.
package e2e_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/attack"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/browser"
	"github.com/forgeproof/forgeproof/internal/testenv"
)

var (
	victimFlag   = flag.String("victim", "", "attack this deployment (an https origin) instead of the in-process victims")
	controlFlag  = flag.Bool("control", false, "with -victim: the deployment has no CSRF defense; attacks must succeed")
	loginPage    = flag.String("login-page", "/", "with -victim: path of the page with the sign-in form")
	loginPath    = flag.String("login", "/login", "with -victim: path the sign-in form posts to")
	userField    = flag.String("user-field", "username", "with -victim: name of the sign-in form's user input")
	passField    = flag.String("password-field", "password", "with -victim: name of the sign-in form's password input")
	user         = flag.String("user", "alice:wonderland", "with -victim: the victim's account, user:password")
	attacker     = flag.String("attacker", "mallory:attacker", "with -victim: the attacker's own account, user:password")
	signedIn     = flag.String("signed-in", `document.getElementById("user") !== null`, "with -victim: JavaScript that is true on the sign-in page once signed in")
	formTarget   = flag.String("form", "/transfer to=mallory&amount=1", "with -victim: a state-changing form POST: path and urlencoded fields")
	jsonTarget   = flag.String("json", `/api/transfer {"to":"mallory","amount":"1"}`, "with -victim: a state-changing JSON POST: path and body")
	multipart    = flag.Bool("multipart", false, "with -victim: the -form path also takes multipart/form-data")
	getTarget    = flag.String("get", "/transfer?to=mallory&amount=1", `with -victim: a state-changing GET, or "" if none`)
	overridePath = flag.String("override", "/api/payees/mallory", `with -victim: a path that takes POST with _method=DELETE, or ""`)
	logoutPath   = flag.String("logout", "/logout", `with -victim: the sign-out POST path, or ""`)
	wsPath       = flag.String("ws", "", `with -victim: a cookie-authenticated WebSocket path, or ""`)
	spaJS        = flag.String("spa", "", "with -victim: JavaScript that makes a legitimate state change with fetch on the sign-in page (default: the demo bank's)")
	formJS       = flag.String("form-js", "", "with -victim: JavaScript that submits a legitimate state-changing form on the sign-in page (default: the demo bank's)")
	probes       = flag.String("probes", "/api/balance,/api/payees", "with -victim: comma-separated paths whose answers change with every state change")
	resolveFlag  = flag.String("resolve", "", "with -victim: comma-separated host=addr pairs the browser connects to instead of resolving the host")
	spkiFlag     = flag.String("spki", "", "with -victim: comma-separated base64 SHA-256 hashes of certificate public keys to trust")
	runFlag      = flag.String("case", "", "run only the cases whose name matches this regular expression")
	reportFlag   = flag.String("report", "", "also write the tables to this file")
	victimsFlag  = flag.String("victims", "", "attack only the in-process victims whose name matches this regular expression")
	browsersFlag = flag.Int("browsers", 3, "how many victims to attack at once, each with its own browser")
)

// TestAttacks runs every case against every victim and prints a table per
// victim, then "N passed, N failed".
func TestAttacks(t *testing.T) {
	chromium := testenv.Chromium(t)
	cases := attack.Cases()
	if *runFlag != "" {
		re, err := regexp.Compile(*runFlag)
		if err != nil {
			t.Fatalf("-case: %v", err)
		}
		cases = filter(cases, re)
	}

	var victims []attack.Victim
	opts := attack.Options{Chromium: chromium, Logf: t.Logf}
	if *victimFlag != "" {
		opts.Resolve = make(map[string]string)
		for _, pair := range strings.Split(*resolveFlag, ",") {
			if pair == "" {
				continue
			}
			host, addr, ok := strings.Cut(pair, "=")
			if !ok {
				t.Fatalf("-resolve %q: want host=addr", pair)
			}
			opts.Resolve[host] = addr
		}
		if *spkiFlag != "" {
			opts.TrustSPKI = strings.Split(*spkiFlag, ",")
		}
		v, err := deploymentVictim()
		if err != nil {
			t.Fatal(err)
		}
		victims = append(victims, v)
	} else {
		victims = append(victims, controlVictim())
		for _, m := range modes {
			victims = append(victims, libraryVictim(t, m))
		}
		victims = append(victims, libraryVictimTrusting(t, forgeproof.SignedTokens, "https://*.bank.test"))
		for _, m := range modes {
			victims = append(victims, gatewayVictim(t, m))
		}
		victims = append(victims, gatewayVictimCORS(t, forgeproof.SignedTokens, openCORS))
		if *victimsFlag != "" {
			re, err := regexp.Compile(*victimsFlag)
			if err != nil {
				t.Fatalf("-victims: %v", err)
			}
			victims = slices.DeleteFunc(victims, func(v attack.Victim) bool { return !re.MatchString(v.Name) })
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	// Each victim gets its own browser; a few run at once, since most of a
	// case is spent waiting for the browser and the network.
	start := time.Now()
	results := make([][]attack.Result, len(victims))
	errs := make([]error, len(victims))
	sem := make(chan struct{}, *browsersFlag)
	var wg sync.WaitGroup
	for i, v := range victims {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i], errs[i] = attack.Run(ctx, v, cases, opts)
		}()
	}
	wg.Wait()
	var all []attack.Result
	for i, v := range victims {
		if errs[i] != nil {
			t.Errorf("%s: %v", v.Name, errs[i])
		}
		all = append(all, results[i]...)
	}

	var buf bytes.Buffer
	passed, failed := attack.WriteTable(&buf, all)
	fmt.Fprintf(&buf, "%d passed, %d failed\n", passed, failed)
	fmt.Print(buf.String())
	t.Logf("%d cases against %d victims in %v", len(cases), len(victims), time.Since(start).Round(time.Second))
	if *reportFlag != "" {
		if err := os.WriteFile(*reportFlag, buf.Bytes(), 0o644); err != nil {
			t.Error(err)
		}
	}
	for _, r := range all {
		if !r.Pass {
			t.Errorf("%s: %s: want %s, got %s", r.Victim, r.Case, r.Want, r.Got)
		}
	}
}

// TestCookieTossingBreaksNaiveDoubleSubmit proves that the cookie-tossing
// case really attacks: against a naive double-submit check (a plain csrf
// cookie compared with the form field) it must move money, while the
// library and the gateway stop it in TestAttacks.
func TestCookieTossingBreaksNaiveDoubleSubmit(t *testing.T) {
	chromium := testenv.Chromium(t)
	cases := filter(attack.Attacks(), regexp.MustCompile(`^(cookie-tossing|form-urlencoded)$`))
	v := naiveVictim()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := attack.Run(ctx, v, cases, attack.Options{Chromium: chromium, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	attack.WriteTable(&buf, res)
	t.Logf("\n%s", buf.String())
	for _, r := range res {
		switch r.Case {
		case "cookie-tossing":
			if !r.Pass || r.Got == "none" {
				t.Errorf("cookie tossing did not break naive double-submit: got %s", r.Got)
			}
		case "form-urlencoded":
			// Without the tossed cookie, the naive check does stop a
			// forged form: the case above owes its success to the toss.
			if r.Pass {
				t.Errorf("a forged form without a tossed cookie passed the naive check: got %s", r.Got)
			}
		}
	}
}

func filter(cases []attack.Case, re *regexp.Regexp) []attack.Case {
	var out []attack.Case
	for _, c := range cases {
		if re.MatchString(c.Name) {
			out = append(out, c)
		}
	}
	return out
}

// deploymentVictim describes the deployment named by -victim from the
// flags; its effects are read from the probes.
func deploymentVictim() (attack.Victim, error) {
	t := attack.BankTarget(*victimFlag)
	t.LoginPage, t.LoginPath = *loginPage, *loginPath
	t.UserField, t.PasswordField = *userField, *passField
	var ok bool
	if t.User, t.Password, ok = strings.Cut(*user, ":"); !ok {
		return attack.Victim{}, fmt.Errorf("-user %q: want user:password", *user)
	}
	if t.AttackerUser, t.AttackerPassword, ok = strings.Cut(*attacker, ":"); !ok {
		return attack.Victim{}, fmt.Errorf("-attacker %q: want user:password", *attacker)
	}
	t.SignedIn = *signedIn
	t.FormPath, t.FormFields, _ = strings.Cut(*formTarget, " ")
	t.JSONPath, t.JSONBody, _ = strings.Cut(*jsonTarget, " ")
	t.Multipart = *multipart
	t.GetURL, t.OverridePath, t.LogoutPath, t.WebSocketPath = *getTarget, *overridePath, *logoutPath, *wsPath
	if *spaJS != "" {
		t.SPATransfer = *spaJS
	}
	if *formJS != "" {
		t.FormTransfer = *formJS
	}
	t.Probes = strings.Split(*probes, ",")
	return attack.Victim{Name: t.Origin, Protected: !*controlFlag, Target: t}, nil
}

// TestDeployment runs cases the way they run against a user's deployment
// (-victim): the victim is a real TLS server with a certificate of its
// own, reached by name, signed in to through its page, and its effects are
// read from the probes, not from an in-process record.
func TestDeployment(t *testing.T) {
	chromium := testenv.Chromium(t)
	cases := filter(attack.Cases(), regexp.MustCompile(
		`^(form-urlencoded|img-get|override-body|login-csrf|custom-header-fetch|spa-fetch-token-header|same-origin-form-post)$`))
	for _, v := range []attack.Victim{controlVictim(), libraryVictim(t, forgeproof.SignedTokens)} {
		t.Run(v.Name, func(t *testing.T) {
			t.Parallel()
			ca, err := browser.NewCA("bank.test")
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewUnstartedServer(v.Handler)
			srv.TLS = ca.ServerConfig()
			srv.Config.ErrorLog = quiet
			srv.StartTLS()
			defer srv.Close()
			v.Reset() // once: a deployment is not reset between cases
			v.Handler, v.Reset, v.Effects = nil, nil, nil

			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			res, err := attack.Run(ctx, v, cases, attack.Options{
				Chromium:  chromium,
				Resolve:   map[string]string{"bank.test": srv.Listener.Addr().String()},
				TrustSPKI: []string{ca.SPKI()},
				Logf:      t.Logf,
			})
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			attack.WriteTable(&buf, res)
			t.Logf("\n%s", buf.String())
			for _, r := range res {
				if !r.Pass {
					t.Errorf("%s: want %s, got %s", r.Case, r.Want, r.Got)
				}
			}
		})
	}
}
