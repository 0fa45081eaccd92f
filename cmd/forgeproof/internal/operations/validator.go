package operations

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
)

// ValidateRequest checks r against the operation's parameters, headers
// and request body with openapi3filter. It implements
// [gateway.RequestValidator]; r's path has been matched to the
// operation's pattern by the library.
func (o *Operation) ValidateRequest(r *http.Request, body []byte) *gateway.Invalid {
	in := *r // shallow: the validator reads the body and may replace it
	if body != nil {
		in.Body = io.NopCloser(bytes.NewReader(body))
	} else {
		in.Body = http.NoBody
	}
	in.GetBody = nil
	input := &openapi3filter.RequestValidationInput{
		Request:    &in,
		PathParams: o.pathParams(r.URL.Path),
		Route:      &o.route,
		Options:    validationOptions,
	}
	err := openapi3filter.ValidateRequest(r.Context(), input)
	if err == nil {
		return nil
	}
	return invalid(err)
}

// invalid describes a validation error without quoting the request's
// values, which may be secrets.
func invalid(err error) *gateway.Invalid {
	if me, ok := err.(openapi3.MultiError); ok && len(me) > 0 {
		err = me[0]
	}
	inv := &gateway.Invalid{Reason: forgeproof.ReasonRequestInvalid}
	var re *openapi3filter.RequestError
	if !errors.As(err, &re) {
		inv.Detail = "the request does not match the operation"
		return inv
	}
	if p := re.Parameter; p != nil {
		inv.In, inv.Parameter = p.In, p.Name
	} else {
		inv.In = "body"
	}
	var se *openapi3.SchemaError
	var pe *openapi3filter.ParseError
	switch {
	case errors.Is(re.Err, openapi3filter.ErrInvalidRequired):
		if re.Parameter != nil {
			inv.Detail = fmt.Sprintf("the %s parameter %q is required", re.Parameter.In, re.Parameter.Name)
		} else {
			inv.Detail = "the request body is required"
		}
	case errors.Is(re.Err, openapi3filter.ErrInvalidEmptyValue):
		inv.Detail = fmt.Sprintf("the %s parameter %q must not be empty", inv.In, inv.Parameter)
	case errors.As(re.Err, &se):
		// The innermost schema error names the field.
		for {
			var inner *openapi3.SchemaError
			if se.Origin == nil || !errors.As(se.Origin, &inner) {
				break
			}
			se = inner
		}
		ptr := se.JSONPointer()
		if name := property(se); name != "" {
			ptr = append(ptr, name)
		}
		if re.Parameter == nil {
			inv.Pointer = pointer(ptr)
		}
		inv.Detail = se.Reason
		if k := keyword(se); k != "" {
			// The JSON Schema 2020-12 validator's messages may quote the
			// value: name the keyword it fails instead.
			inv.Detail = fmt.Sprintf("does not satisfy the schema's %q", k)
		}
		if inv.Pointer != "" {
			inv.Detail = inv.Pointer + ": " + inv.Detail
		}
	case errors.As(re.Err, &pe) && strings.HasPrefix(pe.Reason, "unsupported content type"):
		inv.Reason = forgeproof.ReasonMediaTypeUnsupported
		inv.Detail = "the gateway cannot read a body of this Content-Type to validate it; send one of: " + strings.Join(mediaTypes(re), ", ")
	case errors.As(re.Err, &pe):
		if re.Parameter != nil {
			inv.Detail = fmt.Sprintf("the %s parameter %q is not of its declared type", re.Parameter.In, re.Parameter.Name)
		} else {
			inv.Detail = "the request body does not parse as its media type"
		}
	case re.Err == nil && strings.HasPrefix(re.Reason, "header Content-Type has unexpected value"):
		inv.Reason = forgeproof.ReasonMediaTypeUnsupported
		inv.Detail = "the operation does not accept a body of this Content-Type; send one of: " + strings.Join(mediaTypes(re), ", ")
	default:
		if re.Parameter != nil {
			inv.Detail = fmt.Sprintf("the %s parameter %q is invalid", re.Parameter.In, re.Parameter.Name)
		} else {
			inv.Detail = "the request body is invalid"
		}
	}
	return inv
}

// property returns the property that a schema error about an object is
// about: a required property that is missing, or one that is not allowed.
// The pointer of such an error names the object only.
func property(se *openapi3.SchemaError) string {
	// OpenAPI 3.0: kin-openapi's own validator. (It names a missing
	// property in the pointer already.)
	var name string
	if se.SchemaField == "properties" {
		if _, err := fmt.Sscanf(se.Reason, "property %q is unsupported", &name); err == nil {
			return name
		}
	}
	// OpenAPI 3.1: the JSON Schema 2020-12 validator.
	var ve *jsonschema.ValidationError
	if errors.As(se, &ve) {
		for len(ve.Causes) == 1 {
			ve = ve.Causes[0]
		}
		switch k := ve.ErrorKind.(type) {
		case *kind.Required:
			if len(k.Missing) > 0 {
				return k.Missing[0]
			}
		case *kind.AdditionalProperties:
			if len(k.Properties) > 0 {
				return k.Properties[0]
			}
		}
	}
	return ""
}

// keyword returns the JSON Schema keyword that a 2020-12 validation error
// is about, or "" for an error of kin-openapi's own (OpenAPI 3.0)
// validator, whose messages never quote the value.
func keyword(se *openapi3.SchemaError) string {
	var ve *jsonschema.ValidationError
	if !errors.As(se, &ve) {
		return ""
	}
	for len(ve.Causes) == 1 {
		ve = ve.Causes[0]
	}
	if ve.ErrorKind == nil {
		return ""
	}
	if kp := ve.ErrorKind.KeywordPath(); len(kp) > 0 {
		return kp[len(kp)-1]
	}
	return ""
}

// mediaTypes lists the media types a request body accepts.
func mediaTypes(re *openapi3filter.RequestError) []string {
	if re.RequestBody == nil {
		return nil
	}
	mts := make([]string, 0, len(re.RequestBody.Content))
	for mt := range re.RequestBody.Content {
		mts = append(mts, mt)
	}
	slices.Sort(mts)
	return mts
}

// pointer returns the JSON pointer (RFC 6901) of a path of keys.
func pointer(keys []string) string {
	var b strings.Builder
	for _, k := range keys {
		b.WriteByte('/')
		b.WriteString(strings.NewReplacer("~", "~0", "/", "~1").Replace(k))
	}
	return b.String()
}
