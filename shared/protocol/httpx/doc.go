// Package httpx holds the HTTP plumbing shared by the handlers: the strict
// form parser of the token and revocation endpoints, the JSON and OAuth
// error writers, scope parsing and the recover middleware. Standard
// library plus shared/oauth only.
package httpx
