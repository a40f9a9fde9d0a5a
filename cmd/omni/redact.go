package main

import "net/url"

func redacted(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(database url)"
	}
	return p.Redacted()
}
