package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/bank"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/config"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/server"
)

const demoUsage = `Usage: forgeproof demo [--addr ADDR] [--admin-addr ADDR]

Demo runs, in one process and with no configuration file, a small bank
application behind the forgeproof gateway: sign in, look at the balance,
make transfers with fetch and with a plain HTML form. The bank has no CSRF
defense of its own; every defense comes from the gateway in front of it.
State is kept in memory and the token-signing key is new on every start.

Refused requests are logged on stderr, one line each.

Flags:
`

// demoConfig is the gateway configuration that "forgeproof demo" runs
// with. The upstream URL is replaced by the bank's address at start.
const demoConfig = `# forgeproof demo: the demo bank behind the gateway.
addr: 127.0.0.1:8080
admin:
  addr: 127.0.0.1:9090
log:
  format: text
store: memory
protection:
  # Tokens are bound to the bank's session cookie and rotated when it
  # changes (sign-in, sign-out).
  session_cookie: session
upstreams:
  - name: bank
    url: http://bank.invalid
# Step-up: the bank checks the password again at /api/reauth, then the
# gateway mints a single-use proof bound to the session and the operation.
reauth_verify: /api/reauth
# The bank confirms a right password with 204 and X-Reauth-Verified: true;
# no other answer mints a proof.
reauth_success:
  status: 204
  header: X-Reauth-Verified
  value: "true"
routes:
  # The transfer API takes JSON only: no cross-site HTML form can send it.
  - pattern: POST /api/transfer
    json_only: true
  # The bank changes state on GET /transfer, a legacy endpoint: check it
  # like a POST.
  - pattern: GET /transfer
    check_safe_methods: true
  # Transfers of $500 or more go here, and need the password again.
  - pattern: POST /api/transfer/large
    json_only: true
    reauth_max_age: 5m
`

// demoLargeTransfer is the amount, in cents, from which the demo bank asks
// for the password again before a transfer.
const demoLargeTransfer = 500_00

// demoStarted, if set, is called once the demo serves, with its bank and
// base URLs. Tests use it to watch the bank's effects.
var demoStarted func(b *bank.Bank, url, adminURL string)

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cliFlagSet("demo", demoUsage, stdout)
	addr := fs.String("addr", config.DefaultAddr, "serve the bank through the gateway on `ADDR`")
	adminAddr := fs.String("admin-addr", config.DefaultAdminAddr, "serve /livez, /readyz and /metrics on `ADDR`")
	if code, ok := cliParse(fs, args, stderr); !ok {
		return code
	}

	// The bank listens on a loopback port of its own; the gateway is its
	// only way in from a browser.
	b := bank.New(bank.Options{LargeTransfer: demoLargeTransfer})
	bankLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(stderr, "forgeproof: error: cannot start the demo bank: %v\n", err)
		return 1
	}
	bankSrv := &http.Server{Handler: b, ReadHeaderTimeout: 10 * time.Second}
	go bankSrv.Serve(bankLn)
	defer bankSrv.Close()
	bankURL := "http://" + bankLn.Addr().String()

	load := func() (*config.Config, error) {
		c, err := config.Decode("demo configuration", []byte(demoConfig))
		if err != nil {
			return nil, err
		}
		c.Upstreams[0].URL = bankURL
		c.Addr = *addr
		c.SetFlag("addr", "--addr")
		c.Admin.Addr = *adminAddr
		c.SetFlag("admin.addr", "--admin-addr")
		c.SetDefaults()
		return c, c.Validate()
	}
	err = server.Run(ctx, server.Options{
		Load: load,
		Log:  stderr,
		Started: func(url, adminURL string) {
			printDemo(stdout, url, adminURL, bankURL)
			if demoStarted != nil {
				demoStarted(b, url, adminURL)
			}
		},
	})
	if err == nil {
		return 0
	}
	var list config.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Fprintln(stderr, e)
		}
		fmt.Fprintf(stderr, "forgeproof: error: the demo cannot start: %s\n", plural(len(list), "problem"))
		fmt.Fprintln(stderr, `forgeproof: hint: check --addr and --admin-addr, such as 127.0.0.1:8080`)
		return 1
	}
	fmt.Fprintf(stderr, "forgeproof: error: %v\n", err)
	if strings.Contains(err.Error(), "address already in use") {
		fmt.Fprintln(stderr, "forgeproof: hint: another program uses the port; choose others with --addr and --admin-addr")
	}
	return 1
}

func printDemo(w io.Writer, url, adminURL, bankURL string) {
	fmt.Fprintf(w, `forgeproof demo: the demo bank is running behind the gateway

  Open the bank:     %[1]s/
  Sign in as:        alice / wonderland   (or bob / builder)
  Admin listener:    %[2]s/dashboard/  %[2]s/metrics  %[2]s/readyz
  Bank, unprotected: %[3]s  (the gateway's upstream)
  Large transfers:   $500 or more ask for the password again (step-up)

A forged transfer, as another site would send it, is refused with 403:

  curl -i -X POST -H 'Origin: https://evil.example' -H 'Content-Type: application/json' -d '{"to":"mallory","amount":"100"}' %[1]s/api/transfer

Press Ctrl-C to stop.
`, url, adminURL, bankURL)
}
