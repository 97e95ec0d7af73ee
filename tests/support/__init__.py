"""Helpers the tests share (fakes of hosts and services, file writers, a loopback S3 server);
not tests themselves, and never imported by cloudsubmit."""
