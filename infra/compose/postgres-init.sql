CREATE DATABASE meterflux_registry;
