<?xml version="1.0"?>
<!--
  SPDX-License-Identifier: LGPL-2.1-or-later
  org.vgpud1(5) from the D-Bus contract dbus/org.vgpud1.xml: xsltproc writes the manual page (roff)
  directly. Every interface, method, signal and property with its arguments, and the comment that
  precedes it in the contract (its documentation) verbatim, re-indented.
  Parameter: version (vgpud's version, for the footer).
-->
<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">
  <xsl:output method="text" encoding="UTF-8"/>
  <xsl:param name="version" select="''"/>
  <xsl:variable name="nl" select="'&#10;'"/>

  <xsl:template match="/">
    <xsl:text>.TH "ORG.VGPUD1" "5" "" "vgpud </xsl:text>
    <xsl:value-of select="$version"/>
    <xsl:text>" "vgpud"&#10;.nh&#10;.ad l&#10;.SH NAME&#10;org.vgpud1 \- the D-Bus interface of vgpud, the mediated device and vGPU daemon&#10;</xsl:text>
    <xsl:text>.SH DESCRIPTION&#10;</xsl:text>
    <xsl:call-template name="doc">
      <xsl:with-param name="c" select="/comment()[1]"/>
      <xsl:with-param name="strip" select="2"/>
    </xsl:call-template>
    <xsl:apply-templates select="node/interface"/>
    <xsl:text>.SH SEE ALSO&#10;\fBvgpud\fR(8), \fBvgpuctl\fR(8), \fBbusctl\fR(1); the contract itself: /usr/share/dbus-1/interfaces/org.vgpud1.xml&#10;</xsl:text>
  </xsl:template>

  <xsl:template match="interface">
    <xsl:text>.SH INTERFACE </xsl:text>
    <xsl:value-of select="@name"/>
    <xsl:value-of select="$nl"/>
    <xsl:call-template name="doc-of"/>
    <xsl:if test="method">
      <xsl:text>.SS Methods&#10;</xsl:text>
      <xsl:apply-templates select="method"/>
    </xsl:if>
    <xsl:if test="signal">
      <xsl:text>.SS Signals&#10;</xsl:text>
      <xsl:apply-templates select="signal"/>
    </xsl:if>
    <xsl:if test="property">
      <xsl:text>.SS Properties&#10;</xsl:text>
      <xsl:apply-templates select="property"/>
    </xsl:if>
  </xsl:template>

  <xsl:template match="method|signal">
    <xsl:text>.TP&#10;\fB</xsl:text>
    <xsl:value-of select="@name"/>
    <xsl:text>\fR(</xsl:text>
    <xsl:for-each select="arg">
      <xsl:if test="position() &gt; 1">, </xsl:if>
      <xsl:if test="@direction = 'out'">out </xsl:if>
      <xsl:value-of select="@type"/>
      <xsl:text> \fI</xsl:text>
      <xsl:value-of select="@name"/>
      <xsl:text>\fR</xsl:text>
    </xsl:for-each>
    <xsl:text>)&#10;</xsl:text>
    <xsl:call-template name="doc-of"/>
  </xsl:template>

  <xsl:template match="property">
    <xsl:text>.TP&#10;\fB</xsl:text>
    <xsl:value-of select="@name"/>
    <xsl:text>\fR </xsl:text>
    <xsl:value-of select="@type"/>
    <xsl:text> (</xsl:text>
    <xsl:value-of select="@access"/>
    <xsl:if test="annotation[@name = 'org.freedesktop.DBus.Property.EmitsChangedSignal']/@value = 'const'">
      <xsl:text>, constant</xsl:text>
    </xsl:if>
    <xsl:text>)&#10;</xsl:text>
    <xsl:call-template name="doc-of"/>
  </xsl:template>

  <!-- The comment right before the context node (only whitespace between), as its documentation.
       Its text lines are indented by the element's column plus 5 ("<!-\- text") or plus 2 (a
       comment whose text starts on the next line); that much is stripped. -->
  <xsl:template name="doc-of">
    <xsl:variable name="c" select="preceding-sibling::node()[not(self::text()[normalize-space() = ''])][1][self::comment()]"/>
    <xsl:if test="$c">
      <xsl:variable name="ws" select="$c/preceding-sibling::node()[1][self::text()]"/>
      <xsl:variable name="col" select="string-length(substring-after($ws, $nl))"/>
      <xsl:call-template name="doc">
        <xsl:with-param name="c" select="$c"/>
        <xsl:with-param name="strip">
          <xsl:choose>
            <xsl:when test="normalize-space(substring-before(concat($c, $nl), $nl)) = ''">
              <xsl:value-of select="$col + 2"/>
            </xsl:when>
            <xsl:otherwise><xsl:value-of select="$col + 5"/></xsl:otherwise>
          </xsl:choose>
        </xsl:with-param>
      </xsl:call-template>
    </xsl:if>
  </xsl:template>

  <xsl:template name="doc">
    <xsl:param name="c"/>
    <xsl:param name="strip"/>
    <xsl:text>.nf&#10;</xsl:text>
    <xsl:call-template name="lines">
      <xsl:with-param name="s" select="concat($c, $nl)"/>
      <xsl:with-param name="strip" select="$strip"/>
      <xsl:with-param name="first" select="true()"/>
    </xsl:call-template>
    <xsl:text>.fi&#10;</xsl:text>
  </xsl:template>

  <!-- one output line per input line: leading blank lines and trailing whitespace dropped, up to
       $strip leading spaces removed (the first line's are all removed), roff escaped -->
  <xsl:template name="lines">
    <xsl:param name="s"/>
    <xsl:param name="strip"/>
    <xsl:param name="first"/>
    <xsl:if test="normalize-space($s) != ''">
      <xsl:variable name="line" select="substring-before($s, $nl)"/>
      <xsl:variable name="rest" select="substring-after($s, $nl)"/>
      <xsl:choose>
        <xsl:when test="$first and normalize-space($line) = ''">
          <xsl:call-template name="lines">
            <xsl:with-param name="s" select="$rest"/>
            <xsl:with-param name="strip" select="$strip"/>
            <xsl:with-param name="first" select="true()"/>
          </xsl:call-template>
        </xsl:when>
        <xsl:otherwise>
          <xsl:variable name="text">
            <xsl:choose>
              <xsl:when test="$first"><xsl:call-template name="ltrim"><xsl:with-param name="s" select="$line"/><xsl:with-param name="n" select="10000"/></xsl:call-template></xsl:when>
              <xsl:otherwise><xsl:call-template name="ltrim"><xsl:with-param name="s" select="$line"/><xsl:with-param name="n" select="$strip"/></xsl:call-template></xsl:otherwise>
            </xsl:choose>
          </xsl:variable>
          <xsl:call-template name="roff-line"><xsl:with-param name="s" select="$text"/></xsl:call-template>
          <xsl:call-template name="lines">
            <xsl:with-param name="s" select="$rest"/>
            <xsl:with-param name="strip" select="$strip"/>
            <xsl:with-param name="first" select="false()"/>
          </xsl:call-template>
        </xsl:otherwise>
      </xsl:choose>
    </xsl:if>
  </xsl:template>

  <xsl:template name="ltrim">
    <xsl:param name="s"/>
    <xsl:param name="n"/>
    <xsl:choose>
      <xsl:when test="$n &gt; 0 and starts-with($s, ' ')">
        <xsl:call-template name="ltrim">
          <xsl:with-param name="s" select="substring($s, 2)"/>
          <xsl:with-param name="n" select="$n - 1"/>
        </xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$s"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- a text line for roff: backslashes doubled as \e, a leading . or ' protected -->
  <xsl:template name="roff-line">
    <xsl:param name="s"/>
    <xsl:if test="starts-with($s, '.') or starts-with($s, &quot;'&quot;)">\&amp;</xsl:if>
    <xsl:call-template name="escape"><xsl:with-param name="s" select="$s"/></xsl:call-template>
    <xsl:value-of select="$nl"/>
  </xsl:template>
  <xsl:template name="escape">
    <xsl:param name="s"/>
    <xsl:choose>
      <xsl:when test="contains($s, '\')">
        <xsl:value-of select="substring-before($s, '\')"/>
        <xsl:text>\e</xsl:text>
        <xsl:call-template name="escape"><xsl:with-param name="s" select="substring-after($s, '\')"/></xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$s"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
