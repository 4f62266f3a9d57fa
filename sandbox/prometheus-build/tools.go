//go:build tools

// Package tools pins Prometheus' server main in this module so go.sum covers every package it builds from.
package tools

import _ "github.com/prometheus/prometheus/cmd/prometheus"
