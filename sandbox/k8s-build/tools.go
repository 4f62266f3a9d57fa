//go:build tools

// Package tools pins etcd's server main in this module so one go.sum covers every binary.
package tools

import _ "go.etcd.io/etcd/server/v3"
