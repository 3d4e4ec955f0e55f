"""Meta platforms: Instagram (Facebook Login and Instagram Login) and Facebook Pages."""
