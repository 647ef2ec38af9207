#!/bin/sh
# Run once by the s3-setup service of docker-compose.yml (image minio/mc),
# before either cofferd starts: waits for MinIO, creates the bucket
# $COFFER_S3_BUCKET and the user cofferd signs its requests as
# ($COFFER_S3_ACCESS_KEY), allowed into that bucket only. Safe to run again:
# every step keeps what an earlier run made.
set -eu

tries=0
until mc alias set store http://minio:9000 "$MINIO_ROOT_USER" "$MINIO_ROOT_PASSWORD" >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
        echo "s3-setup: MinIO did not answer within 60 s" >&2
        exit 1
    fi
    sleep 1
done

mc mb --ignore-existing "store/$COFFER_S3_BUCKET"

# Everything S3 offers, on this bucket and its objects, nothing elsewhere.
cat >/tmp/coffer-policy.json <<POLICY
{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Action": ["s3:*"],
    "Resource": ["arn:aws:s3:::$COFFER_S3_BUCKET", "arn:aws:s3:::$COFFER_S3_BUCKET/*"]
  }]
}
POLICY
mc admin policy create store coffer /tmp/coffer-policy.json
mc admin user add store "$COFFER_S3_ACCESS_KEY" "$COFFER_S3_SECRET_KEY"
# attach refuses a policy that is already attached (a second run): that is fine.
if ! mc admin policy attach store coffer --user "$COFFER_S3_ACCESS_KEY"; then
    mc admin user info store "$COFFER_S3_ACCESS_KEY" | grep -q 'coffer'
fi
echo "s3-setup: bucket $COFFER_S3_BUCKET and user $COFFER_S3_ACCESS_KEY are ready"
