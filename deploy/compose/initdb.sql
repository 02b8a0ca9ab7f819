-- One database per partner on the shared PostgreSQL (each connector owns its own).
CREATE DATABASE comune;
CREATE DATABASE cineca;
CREATE DATABASE unibo;
CREATE DATABASE fbk;
