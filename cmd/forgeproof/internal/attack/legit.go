package attack

import (
	"fmt"
	"time"
)

// Legit returns the legitimate flows that every defense must let through,
// run in the same browser as the attacks.
func Legit() []Case {
	return []Case{
		{
			Name: "spa-fetch-token-header", Doc: "same-origin SPA transfer with fetch and the token header",
			From: Own, Legit: true,
			Steps: func(r *run) error {
				return r.change(r.tab, r.t.SPATransfer, false, 1)
			},
		},
		{
			Name: "same-origin-form-post", Doc: "same-origin HTML form post",
			From: Own, Legit: true,
			Steps: func(r *run) error {
				return r.change(r.tab, r.t.FormTransfer, true, 1)
			},
		},
		{
			Name: "across-login-rotation", Doc: "transfer, sign out, sign in again (token rotated twice), transfer",
			From: Own, Legit: true, Needs: []string{"logout"},
			Steps: func(r *run) error {
				if err := r.change(r.tab, r.t.SPATransfer, false, 1); err != nil {
					return err
				}
				// Sign out with the page's own form, then sign in again.
				signOut := fmt.Sprintf(`(() => { const f = [...document.forms].find(f => new URL(f.action).pathname == %q); f.requestSubmit(); })()`, r.t.LogoutPath)
				if err := r.tab.Eval(signOut, nil, 5*time.Second); err != nil {
					return err
				}
				if err := r.tab.WaitFor("!("+r.t.SignedIn+")", 10*time.Second); err != nil {
					return fmt.Errorf("sign-out did not take effect: %w", err)
				}
				if err := r.signIn(r.tab, r.t.User, r.t.Password); err != nil {
					return err
				}
				return r.change(r.tab, r.t.SPATransfer, false, 4) // transfer, sign-out, sign-in, transfer
			},
		},
		{
			Name: "cross-site-link", Doc: "a link on another site merely opens the target's page, still signed in",
			From: Attacker, Legit: true, NoEffect: true, Wait: Navigate,
			Page: `<a id=l href="{{.V}}{{.T.LoginPage}}">open the bank</a><script>l.click()</script>`,
		},
		{
			Name: "two-tabs", Doc: "two tabs of one profile, each with its own page token, both post",
			From: Own, Legit: true,
			Steps: func(r *run) error {
				second, err := r.profile.NewTab()
				if err != nil {
					return err
				}
				defer second.Close()
				if _, err := second.Navigate(r.t.Origin+r.t.LoginPage, r.timeout); err != nil {
					return err
				}
				if err := r.change(second, r.t.FormTransfer, true, 1); err != nil {
					return fmt.Errorf("second tab: %w", err)
				}
				if err := r.change(r.tab, r.t.SPATransfer, false, 2); err != nil {
					return fmt.Errorf("first tab, after the second: %w", err)
				}
				return nil
			},
		},
		{
			Name: "same-origin-websocket", Doc: "the target's own page opens its WebSocket",
			From: Own, Legit: true, Needs: []string{"ws"},
			Steps: func(r *run) error {
				open := fmt.Sprintf(`new Promise(res => { const ws = new WebSocket(%q);
					ws.onmessage = e => { ws.close(); res("ok") }; ws.onerror = () => res("error") })`, r.wsURL())
				var got string
				if err := r.tab.Eval(open, &got, r.timeout); err != nil {
					return err
				}
				if got != "ok" {
					return fmt.Errorf("the WebSocket did not open")
				}
				return nil
			},
		},
	}
}
