/**
 * @kubernetes/client-node's KubeConfig, imported statically here so the bundler keeps only what
 * KubeConfig needs (the package's generated API models are megabytes keystone never uses).
 * This module itself is loaded lazily, by commands that talk to a cluster.
 */
export { KubeConfig } from '@kubernetes/client-node';
