//go:build tools

// Package tools pins the etcd server, whose module root is its main package.
package tools

import _ "go.etcd.io/etcd/server/v3"
