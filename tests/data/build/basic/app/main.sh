#!/bin/sh
echo "main $*"
