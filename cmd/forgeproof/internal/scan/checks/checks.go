// Package checks defines the checks of forgeproof's scanner. Each check is a
// value ([Check]) with a stable id, a title, a severity, a documentation
// page in docs/checks/<id>.md and a Run function that reads what the
// scanner saw (a [Pass]) and reports findings.
//
// # Active checks
//
// The scanner sends, for every state-changing operation, a legitimate
// baseline request and then probes: variants that a forging page on another
// site could make a signed-in browser send (cookies only, no custom
// headers, a form-sendable body, no token or a token the attacker can know,
// and the Origin, Referer and Sec-Fetch-Site a browser would attach). A
// probe is accepted when its response matches the baseline's: the same
// status class and a similarity (see [Similarity]) of at least
// [AcceptSimilarity], with no forgeproof rejection reason. An accepted probe
// is a finding of the check that owns it.
//
// # Passive checks
//
// Passive checks read the pages, cookies, CORS answers and tokens that the
// scan collected along the way.
//
// # Adding a check
//
// Add a value to [All], write docs/checks/<id>.md, and add a fixture under
// testdata/ (a raw HTTP exchange for passive checks, a probe table for
// active ones) with the expected finding named in it.
package checks

import (
	"net/http"
	"net/url"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/operations/rule"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/report"
)

// DocBase is the URL prefix of the check documentation pages.
const DocBase = "https://github.com/forgeproof/forgeproof/blob/main/docs/checks/"

// A Check is one kind of weakness that the scanner looks for.
type Check struct {
	// ID is the stable name of the check, such as "token-optional".
	ID string
	// Title is a one-line description of the weakness.
	Title string
	// Severity ranks findings of this check.
	Severity report.Severity
	// Run reports the check's findings on p.
	Run func(c *Check, p *Pass)
}

// Doc returns the URL of the check's documentation page.
func (c *Check) Doc() string { return DocBase + c.ID + ".md" }

// Rule returns the check's description for reports.
func (c *Check) Rule() report.Rule {
	return report.Rule{ID: c.ID, Title: c.Title, Severity: c.Severity, Doc: c.Doc()}
}

// A Request is a request as the scanner built it.
type Request struct {
	Method string
	URL    *url.URL
	Header http.Header
	Body   []byte
	// Tossed are the cookies a same-site attacker set before the request
	// (name to value), for the double-submit probe's proof of concept.
	Tossed map[string]string
}

// An Exchange is one request sent and what came back.
type Exchange struct {
	// Probe is the probe's id (see the Probe constants).
	Probe   string
	Request *Request
	Status  int
	Header  http.Header
	// Body is the start of the response body (bounded).
	Body []byte
	// Similarity compares the response with the baseline's, from 0 to 1.
	Similarity float64
	// Accepted reports whether the server answered the probe as it
	// answered the baseline.
	Accepted bool
	// Reason is the "reason" member of a problem+json rejection, if any.
	Reason string
	// ContentType is the body's content type when the probe re-encoded
	// a non-form body as one that an HTML form can send; else "".
	ContentType string
}

// An Op is one state-changing operation and its probes.
type Op struct {
	Method string
	Path   string // the path as declared, such as /api/payees/{id}
	// Token reports whether the baseline carried an anti-CSRF token.
	Token bool
	// Baseline is the legitimate request; nil when it was not sent.
	Baseline *Exchange
	// Note says why the operation was not (fully) probed.
	Note string
	// Probes maps a probe id to its exchange.
	Probes map[string]*Exchange
	// Policy is the protection the API description declares for the
	// operation (x-forgeproof), or nil.
	Policy *rule.Rule
}

// A Page is a response to a GET the scan made or read from a HAR file.
type Page struct {
	URL    *url.URL
	Status int
	Header http.Header
	Body   []byte
}

// A SetCookie is a Set-Cookie header seen in a response.
type SetCookie struct {
	Cookie *http.Cookie
	// Login reports whether the cookie was set by the login response.
	Login bool
	// Path is the path of the response that set it.
	Path string
}

// A GetEffect is a GET operation that changed state: sent as a cross-site
// navigation, it changed the answer of an observer (a read-back).
type GetEffect struct {
	Path     string // as declared
	Exchange *Exchange
	Observer string // "GET /path" of the read-back that changed
}

// A Declared is an operation as the input declared it, for checks on the
// API description itself.
type Declared struct {
	Method, Path, OperationID, Summary string
}

// A Pass is what one scan saw, handed to every check's Run.
type Pass struct {
	Target *url.URL
	Ops    []*Op
	Pages  []*Page
	// SetCookies are the cookies the target set, in order seen.
	SetCookies []SetCookie
	// CORS holds the answers to cross-origin preflights, one per path and
	// probe ("cors-attacker", "cors-null").
	CORS []*Exchange
	// URLs are request URLs seen in the input (HAR entries).
	URLs []*url.URL
	// Tokens are the anti-CSRF token values discovered, for spotting them
	// in URLs.
	Tokens []string
	// TokenNames are the names of known token fields and headers.
	TokenNames []string
	// PreLogin and PostLogin are the tokens discovered in one cookie jar
	// before and after the login request; both empty without --login.
	PreLogin, PostLogin string
	// LoginPath is the path of the login request, or "".
	LoginPath string
	// Declared lists the operations of the input, safe ones included.
	Declared []Declared
	// GetEffects are the GET operations after which a read-back changed.
	GetEffects []GetEffect
	// Observers counts the read-back operations that judged GETs by
	// effect; zero when none answered the same twice.
	Observers int

	// Report receives findings.
	Report func(report.Finding)
}

// report files a finding of c.
func (c *Check) report(p *Pass, method, path string, ev report.Evidence, poc string) {
	c.reportAt(p, c.Severity, method, path, ev, poc)
}

// reportAt files a finding of c with another severity than the check's.
func (c *Check) reportAt(p *Pass, sev report.Severity, method, path string, ev report.Evidence, poc string) {
	p.Report(report.Finding{
		Check:    c.ID,
		Title:    c.Title,
		Severity: sev,
		Method:   method,
		Path:     path,
		Evidence: ev,
		Doc:      c.Doc(),
		PoC:      poc,
	})
}

// All is every check, in the order reports list them.
var All = []*Check{
	NoDefense,
	TokenOptional,
	TokenEmpty,
	TokenNotSessionBound,
	OriginNull,
	SameSiteOrigin,
	OriginSchemeIgnored,
	DoubleSubmitNaive,
	RefererOptional,
	FetchMetadataIgnored,
	ContentTypeDowngrade,
	MethodOverride,
	GetChangesState,
	SessionCookie,
	CORS,
	SecurityHeaders,
	SRIMissing,
	TokenInURL,
	TokenNotRotated,
	PolicyNotEnforced,
}

// Lookup returns the check with the given id.
func Lookup(id string) (*Check, bool) {
	for _, c := range All {
		if c.ID == id {
			return c, true
		}
	}
	return nil, false
}

// Clone returns a deep copy of r.
func (r *Request) Clone() *Request {
	u := *r.URL
	return &Request{Method: r.Method, URL: &u, Header: r.Header.Clone(), Body: append([]byte(nil), r.Body...), Tossed: r.Tossed}
}
