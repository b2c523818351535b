package policyadmin

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
)

// Paging of list endpoints, as in the Management API: page counts from 0,
// per_page defaults to 50 and is at most 100.
const (
	defaultPerPage = 50
	maxPerPage     = 100
)

type paging struct {
	page, perPage int
	totals        bool
}

func parsePaging(q url.Values) (paging, error) {
	p := paging{perPage: defaultPerPage}
	var err error
	if p.page, err = intParam(q, "page", 0, 0, 1<<20); err != nil {
		return p, err
	}
	if p.perPage, err = intParam(q, "per_page", defaultPerPage, 1, maxPerPage); err != nil {
		return p, err
	}
	switch v, err := oneParam(q, "include_totals"); {
	case err != nil:
		return p, err
	case v == "true":
		p.totals = true
	case v == "" || v == "false":
	default:
		return p, invalidQuery("include_totals", "must be true or false")
	}
	return p, nil
}

func oneParam(q url.Values, name string) (string, error) {
	vs := q[name]
	switch len(vs) {
	case 0:
		return "", nil
	case 1:
		return vs[0], nil
	}
	return "", invalidQuery(name, "must be given at most once")
}

func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	v, err := oneParam(q, name)
	if err != nil || v == "" {
		return def, err
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, invalidQuery(name, "must be an integer between %d and %d", lo, hi)
	}
	return n, nil
}

// writeList writes one page of items: a bare array, or with include_totals
// the envelope {"start", "limit", "length", "total", key: [...]}.
func writeList[T any](w http.ResponseWriter, p paging, key string, items []T) {
	start := min(p.page*p.perPage, len(items))
	end := min(start+p.perPage, len(items))
	pageItems := items[start:end:end]
	if pageItems == nil {
		pageItems = []T{}
	}
	if !p.totals {
		writeJSON(w, http.StatusOK, pageItems)
		return
	}
	// The envelope's members in Auth0's order, the items last.
	writeJSON(w, http.StatusOK, envelope[T]{
		head:  pageHead{Start: p.page * p.perPage, Limit: p.perPage, Length: len(pageItems), Total: len(items)},
		key:   key,
		items: pageItems,
	})
}

type pageHead struct {
	Start  int `json:"start"`
	Limit  int `json:"limit"`
	Length int `json:"length"`
	Total  int `json:"total"`
}

type envelope[T any] struct {
	head  pageHead
	key   string
	items []T
}

func (e envelope[T]) MarshalJSON() ([]byte, error) {
	head, err := json.Marshal(e.head)
	if err != nil {
		return nil, err
	}
	key, err := json.Marshal(e.key)
	if err != nil {
		return nil, err
	}
	items, err := json.Marshal(e.items)
	if err != nil {
		return nil, err
	}
	out := append(head[:len(head)-1], ',')
	out = append(append(append(out, key...), ':'), items...)
	return append(out, '}'), nil
}
