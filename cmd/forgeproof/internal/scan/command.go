package scan

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/config"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/report"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/version"
)

// Exit codes of [Command].
const (
	ExitOK       = 0 // nothing at or above the --fail-on threshold
	ExitFailed   = 1 // the scan itself failed
	ExitUsage    = 2 // bad flags or inputs
	ExitFindings = 3 // findings at or above the threshold
)

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ", ") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

const usageText = `Usage: forgeproof scan --target URL [flags]

Audits an HTTP API for CSRF weaknesses: sends a legitimate baseline and
forged variants of every state-changing operation, checks cookies, CORS,
security headers and tokens, and reports what a cross-site page can do.
Probes repeat the operations they test: scan a test environment.

Inputs (at least one for active probes):
  --openapi FILE           OpenAPI 3.0 or 3.1 document
  --har FILE               HAR file recorded in a browser's developer tools
  --endpoint "M /p [BODY]" an operation, repeatable; a BODY starting with {
                           is JSON, any other a form

Authentication:
  --cookie NAME=VALUE      session cookie, repeatable
  --header "Name: value"   request header for legitimate requests, repeatable
  --login URL              sign in by calling URL (twice, for two sessions)
  --login-body BODY        body of the login request (form or JSON)
  --login-method METHOD    method of the login request (default POST)

TLS (https targets):
  --ca-cert FILE           trust the CA certificates (PEM) in FILE, such as
                           a private CA or forgeproof serve --tls-self-signed
  --insecure               do not verify the target's certificate (the report
                           carries a warning)

Output:
  --format text|json|sarif|html   (default text)
  --output FILE            write the report to FILE instead of stdout
  --poc-dir DIR            also write each finding's proof-of-concept page
  --fail-on high|medium|low  exit 3 when a finding is at least this severe
                           (default low)

Behaviour:
  --confirm                prove each finding in headless Chromium
  --dry-run                list the requests the scan would send, send none
  --rate N                 requests per second, 0 for no limit (default 300)
  --concurrency N          requests in flight (default 8)
  --timeout DURATION       per request (default 15s)

Exit status: 0 nothing at or above --fail-on, 3 findings at or above it,
2 usage error, 1 the scan failed. See docs/SCANNER.md.
`

// Command runs "forgeproof scan" with args (without the command name) and
// returns the exit code. The report goes to stdout (or --output),
// diagnostics to stderr.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var (
		target, openapi, har, login, loginBody, loginMethod string
		format, output, failOn, pocDir                      string
		caCert                                              string
		confirm, dryRun, insecure                           bool
		rate                                                float64
		concurrency                                         int
		timeout                                             time.Duration
		endpoints, cookies, headers                         multiFlag
	)
	fs.StringVar(&target, "target", "", "")
	fs.StringVar(&openapi, "openapi", "", "")
	fs.StringVar(&har, "har", "", "")
	fs.Var(&endpoints, "endpoint", "")
	fs.StringVar(&login, "login", "", "")
	fs.StringVar(&loginBody, "login-body", "", "")
	fs.StringVar(&loginMethod, "login-method", "POST", "")
	fs.Var(&cookies, "cookie", "")
	fs.Var(&headers, "header", "")
	fs.StringVar(&format, "format", "text", "")
	fs.StringVar(&output, "output", "", "")
	fs.StringVar(&pocDir, "poc-dir", "", "")
	fs.StringVar(&failOn, "fail-on", "low", "")
	fs.StringVar(&caCert, "ca-cert", "", "")
	fs.BoolVar(&insecure, "insecure", false, "")
	fs.BoolVar(&confirm, "confirm", false, "")
	fs.BoolVar(&dryRun, "dry-run", false, "")
	fs.Float64Var(&rate, "rate", 300, "")
	fs.IntVar(&concurrency, "concurrency", 8, "")
	fs.DurationVar(&timeout, "timeout", 15*time.Second, "")

	usageErr := func(msg, hint string) int {
		fmt.Fprintf(stderr, "forgeproof: error: %s\n", msg)
		if hint != "" {
			fmt.Fprintf(stderr, "forgeproof: hint: %s\n", hint)
		}
		return ExitUsage
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			io.WriteString(stdout, usageText)
			return ExitOK
		}
		msg := strings.TrimPrefix(err.Error(), "flag provided but not defined: ")
		if name, ok := strings.CutPrefix(msg, "-"); ok && msg != err.Error() {
			var names []string
			fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
			if s := config.Closest(strings.TrimPrefix(name, "-"), names); s != "" {
				msg += fmt.Sprintf(" (did you mean --%s?)", s)
			}
		}
		return usageErr(msg, `run "forgeproof scan --help" for the flags`)
	}
	if fs.NArg() > 0 {
		return usageErr(fmt.Sprintf("unexpected argument %q", fs.Arg(0)), "flags take the form --name value")
	}
	if target == "" {
		return usageErr("--target is required", "give the application's origin, such as --target https://staging.example.com")
	}
	tu, err := url.Parse(target)
	if err != nil || (tu.Scheme != "http" && tu.Scheme != "https") || tu.Host == "" || tu.User != nil {
		return usageErr(fmt.Sprintf("--target %q is not an http or https URL", target), "give an origin such as https://staging.example.com")
	}
	switch format {
	case "text", "json", "sarif", "html":
	default:
		return usageErr(fmt.Sprintf("--format %q is not one of text, json, sarif, html", format), "")
	}
	threshold, err := report.ParseSeverity(failOn)
	if err != nil {
		return usageErr("--fail-on: "+err.Error(), "")
	}
	if rate < 0 || concurrency < 1 || concurrency > 256 {
		return usageErr("--rate must be at least 0 and --concurrency from 1 to 256", "")
	}
	opts := Options{Target: tu, Rate: rate, Concurrency: concurrency, Timeout: timeout, Header: http.Header{}, Insecure: insecure}
	if caCert != "" {
		pem, err := os.ReadFile(caCert)
		if err != nil {
			return usageErr("--ca-cert: "+err.Error(), "give a PEM file with the CA certificate that signed the target's certificate")
		}
		opts.RootCAs = x509.NewCertPool()
		if !opts.RootCAs.AppendCertsFromPEM(pem) {
			return usageErr(fmt.Sprintf("--ca-cert %s holds no PEM certificate", caCert), "give a PEM file (-----BEGIN CERTIFICATE-----)")
		}
	}
	if insecure {
		fmt.Fprintln(stderr, "forgeproof: warning: --insecure: the target's TLS certificate is not verified")
	}
	for _, c := range cookies {
		ck, err := ParseCookie(c)
		if err != nil {
			return usageErr("--cookie: "+err.Error(), "write --cookie session=VALUE")
		}
		opts.Cookies = append(opts.Cookies, ck)
	}
	for _, h := range headers {
		name, value, err := ParseHeader(h)
		if err != nil {
			return usageErr("--header: "+err.Error(), `write --header "Authorization: Bearer …"`)
		}
		opts.Header.Add(name, value)
	}
	for _, e := range endpoints {
		op, err := ParseEndpoint(e)
		if err != nil {
			return usageErr("--endpoint: "+err.Error(), `write --endpoint "POST /api/transfer {\"to\":\"bob\"}"`)
		}
		opts.Operations = append(opts.Operations, op)
	}
	if openapi != "" {
		ops, declared, err := LoadOpenAPI(ctx, openapi)
		if err != nil {
			return usageErr(err.Error(), "check that the file is an OpenAPI 3.0 or 3.1 document")
		}
		opts.Operations = append(opts.Operations, ops...)
		opts.Declared = declared
		opts.Source = sourcePath(openapi)
	}
	if har != "" {
		data, err := os.ReadFile(har)
		if err != nil {
			return usageErr(err.Error(), "")
		}
		h, err := ParseHAR(data, tu)
		if err != nil {
			return usageErr(err.Error(), "save the HAR from the Network tab of the browser's developer tools (\"Save all as HAR\")")
		}
		if h.Skipped > 0 {
			fmt.Fprintf(stderr, "forgeproof: skipped %d HAR entries for other hosts than %s\n", h.Skipped, tu.Host)
		}
		opts.Operations = append(opts.Operations, h.Operations...)
		opts.HAR = h
		if len(cookies) == 0 && login == "" && len(h.Cookies) > 0 {
			opts.Cookies = h.Cookies
			fmt.Fprintf(stderr, "forgeproof: using the %d session cookies recorded in %s (give --cookie or --login to use others)\n", len(h.Cookies), har)
		}
		if opts.Source == "" {
			opts.Source = sourcePath(har)
		}
	}
	if login != "" {
		lu, err := tu.Parse(login)
		if err != nil || !strings.EqualFold(lu.Host, tu.Host) || lu.Scheme != tu.Scheme {
			return usageErr(fmt.Sprintf("--login %q is not a URL on the target", login), "the scanner sends requests to the target only")
		}
		l := &Login{URL: lu, Method: strings.ToUpper(loginMethod), Body: []byte(loginBody)}
		if loginBody != "" {
			l.ContentType = "application/x-www-form-urlencoded"
			if b := strings.TrimSpace(loginBody); strings.HasPrefix(b, "{") {
				l.ContentType = "application/json"
			}
		}
		opts.Login = l
	}
	if len(opts.Operations) == 0 {
		fmt.Fprintln(stderr, "forgeproof: warning: no operations given; only passive checks will run")
		fmt.Fprintln(stderr, "forgeproof: hint: give --openapi FILE, --har FILE or --endpoint \"POST /path\"")
	}
	if dryRun {
		for _, line := range Plan(opts) {
			fmt.Fprintln(stdout, line)
		}
		return ExitOK
	}
	if confirm {
		opts.Confirm = NewBrowserConfirmer(BrowserOptions{Login: opts.Login, Log: stderr})
	}
	if isTerminal(stderr) {
		opts.Progress = progressBar(stderr)
	}
	rep, err := Run(ctx, opts)
	if err == nil {
		rep.Version = version.Get().String()
	}
	if err != nil {
		fmt.Fprintf(stderr, "forgeproof: error: scan failed: %v\n", err)
		fmt.Fprintf(stderr, "forgeproof: hint: %s\n", failureHint(err, tu, loginMethod))
		return ExitFailed
	}
	if pocDir != "" {
		if err := writePoCs(pocDir, rep); err != nil {
			fmt.Fprintf(stderr, "forgeproof: error: %v\n", err)
			return ExitFailed
		}
	}
	out := stdout
	var file *os.File
	if output != "" {
		file, err = os.Create(output)
		if err != nil {
			fmt.Fprintf(stderr, "forgeproof: error: %v\n", err)
			return ExitFailed
		}
		out = file
	}
	switch format {
	case "text":
		err = report.WriteText(out, rep, report.TextOptions{Color: isTerminal(out) && os.Getenv("NO_COLOR") == ""})
	case "json":
		err = report.WriteJSON(out, rep)
	case "sarif":
		err = report.WriteSARIF(out, rep)
	case "html":
		err = report.WriteHTML(out, rep)
	}
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "forgeproof: error: writing the report: %v\n", err)
		return ExitFailed
	}
	if rep.AtLeast(threshold) {
		return ExitFindings
	}
	return ExitOK
}

// failureHint names the likely cause of a failed scan: a certificate the
// scanner does not trust, a login URL that does not exist or does not take
// the method, or a target that is down.
func failureHint(err error, target *url.URL, loginMethod string) string {
	var unknown x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var tlsErr *tls.CertificateVerificationError
	msg := err.Error()
	switch {
	case errors.As(err, &unknown) || errors.As(err, &tlsErr) && errors.As(tlsErr.Err, &unknown):
		return "the target's TLS certificate is signed by an authority the scanner does not trust: give --ca-cert FILE (the CA's PEM; for forgeproof serve --tls-self-signed, its certificate), or --insecure for a throwaway test"
	case errors.As(err, &hostname):
		return fmt.Sprintf("the target's TLS certificate is not valid for %s: scan the host name the certificate names", target.Hostname())
	case errors.As(err, &invalid):
		return "the target's TLS certificate is invalid (expired, or not for serving): renew it, or give --insecure for a throwaway test"
	case strings.Contains(msg, "login:") && strings.Contains(msg, "answered 404"):
		return "the login URL does not exist: check --login (the path of the form's action, such as /login/ with Django's trailing slash)"
	case strings.Contains(msg, "login:") && strings.Contains(msg, "answered 405"):
		return fmt.Sprintf("the login URL does not take %s: give the method its form uses with --login-method", strings.ToUpper(loginMethod))
	case strings.Contains(msg, "login:") && (strings.Contains(msg, "answered 403") || strings.Contains(msg, "answered 400")):
		return "the login was refused: check --login-body, and that the login page renders the anti-CSRF token the scanner reads (see docs/SCANNER.md, Token discovery)"
	case strings.Contains(msg, "login:"):
		return "the login failed: check --login, --login-body and --login-method"
	}
	return fmt.Sprintf("check that %s is up and reachable from here", origin(target))
}

// sourcePath returns file relative to the working directory, with forward
// slashes, as code-scanning services expect SARIF locations.
func sourcePath(file string) string {
	if filepath.IsAbs(file) {
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, file); err == nil && !strings.HasPrefix(rel, "..") {
				file = rel
			}
		}
	}
	return filepath.ToSlash(filepath.Clean(file))
}

func writePoCs(dir string, rep *report.Report) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, f := range rep.Findings {
		if f.PoC == "" {
			continue
		}
		name := fmt.Sprintf("%02d-%s-%s.html", i+1, f.Check, strings.Trim(strings.NewReplacer("/", "_", "{", "", "}", "").Replace(f.Path), "_"))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(f.PoC), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressBar draws a bar on a terminal for scans of more than a few
// operations.
func progressBar(w io.Writer) func(done, total int) {
	return func(done, total int) {
		if total < 10 {
			return
		}
		const width = 30
		n := done * width / total
		fmt.Fprintf(w, "\r[%s%s] %d/%d operations", strings.Repeat("#", n), strings.Repeat(".", width-n), done, total)
		if done == total {
			fmt.Fprint(w, "\r\x1b[K")
		}
	}
}
