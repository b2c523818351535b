package policyadmin

import (
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// The rules live in the domain (shared/core/oauth/validate.go); the admin
// API only turns a rule's *oauth.FieldError into its 400 invalid_body.

// checked translates err: a *oauth.FieldError becomes invalid_body naming
// the field; anything else (a store fault) is returned unchanged.
func checked(err error) error {
	if fe, ok := oauth.AsFieldError(err); ok {
		return invalidBody(fe.Field, "%s", fe.Message)
	}
	return err
}
