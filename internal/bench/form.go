package bench

import (
	"bytes"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// htmlForm is a <form> as a browser would submit it: hidden and prefilled
// inputs, checked checkboxes, and the submit controls to choose from.
type htmlForm struct {
	action, method string
	fields         url.Values
	submits        []field
	// userField and passField name the inputs a login form wants filled.
	userField, passField string
}

type field struct{ name, value string }

// parseForms extracts every form of an HTML page. Only what a login or a
// consent page needs is modelled: input, button, and textarea's absence is
// fine because neither page has one.
func parseForms(page []byte) ([]*htmlForm, error) {
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		return nil, err
	}
	var forms []*htmlForm
	var walk func(n *html.Node, cur *htmlForm)
	walk = func(n *html.Node, cur *htmlForm) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				cur = &htmlForm{action: attr(n, "action"), method: strings.ToUpper(attr(n, "method")), fields: url.Values{}}
				if cur.method == "" {
					cur.method = "GET"
				}
				forms = append(forms, cur)
			case "input":
				if cur != nil {
					cur.addInput(n)
				}
			case "button":
				if cur != nil && attr(n, "name") != "" && (attr(n, "type") == "" || strings.EqualFold(attr(n, "type"), "submit")) {
					cur.submits = append(cur.submits, field{attr(n, "name"), attr(n, "value")})
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, cur)
		}
	}
	walk(doc, nil)
	return forms, nil
}

func (f *htmlForm) addInput(n *html.Node) {
	name, value := attr(n, "name"), attr(n, "value")
	if name == "" {
		return
	}
	switch strings.ToLower(attr(n, "type")) {
	case "password":
		if f.passField == "" {
			f.passField = name
		}
	case "submit":
		f.submits = append(f.submits, field{name, value})
	case "checkbox", "radio":
		if hasAttr(n, "checked") {
			if value == "" {
				value = "on"
			}
			f.fields.Add(name, value)
		}
	case "text", "email", "":
		if f.userField == "" && (name == "username" || strings.EqualFold(attr(n, "autocomplete"), "username")) {
			f.userField = name
			return
		}
		f.fields.Add(name, value)
	default: // hidden and anything else carrying a value
		f.fields.Add(name, value)
	}
}

// submitValue returns the submit control a user would press for one of
// the wanted values (the consent page's decision=allow), if present.
func (f *htmlForm) submitValue(want ...string) (field, bool) {
	for _, s := range f.submits {
		for _, w := range want {
			if strings.EqualFold(s.value, w) {
				return s, true
			}
		}
	}
	return field{}, false
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}
