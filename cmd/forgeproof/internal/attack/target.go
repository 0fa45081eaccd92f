// Package attack runs forged requests from a real headless Chromium against
// a web application and reports, case by case, whether each one changed
// state. It is forgeproof's end-to-end proof: the suite in e2e runs it
// against the demo bank wrapped by the library and behind the gateway in
// every token mode, and against the unprotected bank as a control, where
// every attack that a browser lets through must succeed.
//
// # Sites
//
// The attacker's pages are served from evil.test (a different site) and
// from evil.<victim host> (a same-site sibling, which SameSite cookies do not
// stop), both mapped to a loopback TLS server that the browser trusts. The
// victim is either served in-process under bank.test, or is a real
// deployment reached through DNS (see [Target]).
//
// # Effects
//
// A case passes on what happened, not on status codes: an in-process victim
// reports its state changes ([Victim.Effects]); for a deployment, the runner
// reads probe URLs as the signed-in user before and after the attack, and a
// change in what they answer is an effect.
package attack

import (
	"fmt"
	"net/url"
	"strings"
)

// A Target describes the application under attack: where it is, how a user
// signs in, and which requests change state. [BankTarget] describes the
// demo bank; a deployment of another application describes its own.
type Target struct {
	// Origin is the application's origin, such as "https://bank.test".
	Origin string

	// LoginPage is the path of the page holding the sign-in form, and
	// LoginPath the path the form posts to. UserField and PasswordField
	// name the form's inputs.
	LoginPage, LoginPath     string
	UserField, PasswordField string

	// User and Password sign in the victim; AttackerUser and
	// AttackerPassword are the attacker's own account (for login CSRF and
	// stolen tokens).
	User, Password                 string
	AttackerUser, AttackerPassword string

	// SignedIn is a JavaScript expression, evaluated on LoginPage, that is
	// true once the user is signed in.
	SignedIn string

	// FormPath takes an urlencoded or multipart POST with FormFields
	// ("to=mallory&amount=1") and changes state.
	FormPath   string
	FormFields string

	// Multipart says that FormPath also takes multipart/form-data bodies.
	Multipart bool

	// JSONPath takes a POST whose body is JSONBody and changes state.
	JSONPath string
	JSONBody string

	// GetURL is a path and query whose GET changes state (a legacy
	// endpoint), or "" when the application has none.
	GetURL string

	// OverridePath takes a POST turned into DELETE by a method override
	// (_method=DELETE), or "" when the application honours none.
	OverridePath string

	// LogoutPath takes a POST that signs the user out.
	LogoutPath string

	// WebSocketPath is a cookie-authenticated WebSocket endpoint, or "".
	WebSocketPath string

	// SPATransfer and FormTransfer are JavaScript statements that, run on
	// LoginPage while signed in, make one legitimate state change the way
	// the application's own page does: with fetch and with a form.
	SPATransfer, FormTransfer string

	// Probes are paths that the signed-in user can GET and whose answers
	// change with every state change that the cases attempt (a balance, a
	// list of payees, the signed-in user's name). They are the effect
	// oracle for a victim that does not report its effects itself.
	Probes []string

	// TokenField is the form field that carries the anti-CSRF token, and
	// TokenMeta the name of the meta tag that pages carry it in.
	TokenField, TokenMeta string
}

// BankTarget returns the Target for the demo bank (internal/bank) at
// origin.
func BankTarget(origin string) Target {
	return Target{
		Origin:           strings.TrimSuffix(origin, "/"),
		LoginPage:        "/",
		LoginPath:        "/login",
		UserField:        "username",
		PasswordField:    "password",
		User:             "alice",
		Password:         "wonderland",
		AttackerUser:     "mallory",
		AttackerPassword: "attacker",
		SignedIn:         `document.getElementById("user") !== null`,
		FormPath:         "/transfer",
		FormFields:       "to=mallory&amount=1",
		Multipart:        true,
		JSONPath:         "/api/transfer",
		JSONBody:         `{"to":"mallory","amount":"1"}`,
		GetURL:           "/transfer?to=mallory&amount=1",
		OverridePath:     "/api/payees/mallory",
		LogoutPath:       "/logout",
		WebSocketPath:    "/ws",
		SPATransfer: `(() => { const f = document.getElementById("json-transfer");
			f.to.value = "bob"; f.amount.value = "2"; f.requestSubmit(); })()`,
		FormTransfer: `(() => { const f = document.getElementById("form-transfer");
			f.to.value = "bob"; f.amount.value = "3"; f.requestSubmit(); })()`,
		Probes:     []string{"/api/balance", "/api/payees"},
		TokenField: "forgeproof_token",
		TokenMeta:  "csrf-token",
	}
}

// Host returns the host name of the target's origin, without port.
func (t Target) Host() string {
	u, err := url.Parse(t.Origin)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// check reports what is missing from t.
func (t Target) check() error {
	u, err := url.Parse(t.Origin)
	if err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return fmt.Errorf("attack: target origin %q is not an origin such as https://bank.example", t.Origin)
	}
	if u.Scheme != "https" {
		return fmt.Errorf("attack: target origin %q must use https, so that Secure and __Host- cookies behave as in production", t.Origin)
	}
	for name, v := range map[string]string{
		"LoginPage": t.LoginPage, "LoginPath": t.LoginPath, "UserField": t.UserField,
		"PasswordField": t.PasswordField, "User": t.User, "SignedIn": t.SignedIn,
		"FormPath": t.FormPath, "FormFields": t.FormFields, "JSONPath": t.JSONPath, "JSONBody": t.JSONBody,
	} {
		if v == "" {
			return fmt.Errorf("attack: target field %s is empty", name)
		}
	}
	if _, err := url.ParseQuery(t.FormFields); err != nil {
		return fmt.Errorf("attack: target FormFields %q: %v", t.FormFields, err)
	}
	if !strings.HasSuffix(t.JSONBody, "}") {
		return fmt.Errorf("attack: target JSONBody %q must be a JSON object", t.JSONBody)
	}
	return nil
}
